"""What a person gives: media decoded and checked, and the prompt built from it."""
