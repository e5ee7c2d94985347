"""Errors a user can cause (bad files, missing warehouse): printed without a traceback."""


class UserError(Exception):
    """Something wrong with the user's input; the message says what and what to do."""


class LoadError(UserError):
    """A raw file was refused; the previous warehouse is unchanged."""
