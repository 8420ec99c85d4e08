class ExtractionError(Exception):
    """The file cannot be turned into text; the message is shown to staff as is."""
