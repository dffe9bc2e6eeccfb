"""The error hierarchy carries each failure's exit code."""

from cowsnap import errors


def test_every_error_is_a_cowsnap_error_with_an_exit_code() -> None:
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, errors.CowsnapError)
            assert value.exit_code in {1, 2, 127}


def test_message_is_the_string() -> None:
    error = errors.RunNotFoundError("no run matches 'abc'")
    assert str(error) == "no run matches 'abc'"
    assert error.exit_code == errors.EXIT_ERROR
    assert errors.CommandNotFoundError("x").exit_code == errors.EXIT_CANNOT_EXECUTE
    assert errors.UsageError("x").exit_code == errors.EXIT_USAGE
