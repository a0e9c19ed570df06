"""The one exception type for problems a person can fix by changing their input, and keeping secrets out of messages."""

import os


class UserInputError(ValueError):
    """Bad input: the message says what was wrong and what is allowed, in one line."""


SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "KEY")


def without_secrets(text: str) -> str:
    """text with the value of every secret-looking environment variable (HF_TOKEN, ...) replaced by ***, for
    anything shown or logged: an exception's message can quote a header or a URL that carries one."""
    for name, value in os.environ.items():
        if len(value) >= 8 and any(part in name.upper() for part in SECRET_NAME_PARTS):
            text = text.replace(value, "***")
    return text
