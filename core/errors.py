"""The project's exception hierarchy.

Library code raises these; only the CLI and the UI turn them into messages for
people. Every message names what is wrong and, where there is one, the fix.
"""

from __future__ import annotations


class TutorError(Exception):
    """Base class of every error the tutor reports to a person."""


class ConfigError(TutorError):
    """A setting, config file or environment variable is invalid."""


class NoQuestionMatchError(ConfigError):
    """A free-text question matches none of the self-check questions closely enough.

    `closest` holds (question id, question text, similarity) of the nearest ones, best
    first, so a shell can offer them as choices as well as print them.
    """

    def __init__(self, message: str, closest: tuple[tuple[str, str, float], ...]) -> None:
        super().__init__(message)
        self.closest = closest


class CorpusError(TutorError):
    """The corpus or its manifest is broken."""


class UnreadableDocumentError(CorpusError):
    """One input file cannot be read (binary, empty, wrong encoding, too big, broken PDF)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class PaperFetchError(CorpusError):
    """One paper cannot be fetched or parsed; the message is the reported reason.

    `corpus.papers.fetch_papers` turns it into a "failed" result; only
    `corpus.paper_text.extract_text` lets it out."""


class InputError(ConfigError):
    """Something a person typed or sent is empty, too big, of the wrong kind or not valid
    UTF-8; the message names the input and the bound (a `limits.*` setting). A ConfigError,
    because input problems were reported as ConfigError before and callers catch that."""


class IndexError_(TutorError):
    """Base for index problems (trailing underscore: do not shadow the builtin)."""


class IndexMissingError(IndexError_):
    """A command needs an index and none has been built."""


class IndexMismatchError(IndexError_):
    """The index was built with other settings than the ones in force now."""


class EmbedderError(TutorError):
    """The embedding model cannot be loaded or used."""


class LLMError(TutorError):
    """The language model server cannot be reached or answered badly."""


class LLMUnreachableError(LLMError):
    """Nothing answers at the configured base URL."""


class LLMTimeoutError(LLMError):
    """The server did not answer in time."""


class LLMResponseError(LLMError):
    """The server answered with something that is not a valid chat completion."""


class ModelFileError(TutorError):
    """The bundled model file is missing, incomplete or fails its checksum."""


class LearnerDataError(TutorError):
    """The learner database is damaged (the message says what was moved, restored or lost),
    or busy or unwritable for the moment (the message says to retry)."""


class DataFileError(TutorError):
    """A data file (JSONL) is unreadable or a line breaks its schema. The message names
    the file, the line and the field; `path`, `line` and `field` hold them for callers that
    point at the spot (each None where it does not apply)."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.field = field


class EvalDataError(DataFileError):
    """An eval or benchmark file is malformed; the message names the line and field."""
