"""The project's small error tree. Messages carry the bad value and what to do next."""


class TaxbotError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(TaxbotError):
    pass


class KnowledgeBaseError(TaxbotError):
    pass


class LoaderError(KnowledgeBaseError):
    """A source file could not be read; the message says which file and why."""


class UnsupportedFileType(LoaderError):
    """The file's extension is not one the loaders read."""


class UndecodableFile(LoaderError):
    """A text file in none of the accepted encodings (utf-8, utf-8-sig, gb18030)."""


class EmptyDocument(LoaderError):
    """The file holds no text (or only a title)."""


class BrokenFile(LoaderError):
    """The file is damaged or not really in its claimed format (bad PDF/DOCX, bad front matter)."""


class NoTextLayer(LoaderError):
    """A PDF whose pages carry no extractable text (a scan); it needs OCR first."""


class DocumentNotFound(KnowledgeBaseError):
    pass


class IndexError_(TaxbotError):
    """Base for index problems (named with a trailing underscore to avoid the builtin)."""


class IndexNotBuilt(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class DialogueUnavailable(TaxbotError):
    """The Rasa server cannot be reached or has no model loaded."""


class ChannelAuthError(TaxbotError):
    pass
