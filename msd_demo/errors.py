"""The one exception type for problems a person can fix by changing their input."""


class UserInputError(ValueError):
    """Bad input: the message says what was wrong and what is allowed, in one line."""
