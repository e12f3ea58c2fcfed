"""The project's small error tree. Messages carry the bad value and what to do next."""


class TaxbotError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(TaxbotError):
    pass


class KnowledgeBaseError(TaxbotError):
    pass


class LoaderError(KnowledgeBaseError):
    """A source file could not be read; the message says which file and why."""


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
