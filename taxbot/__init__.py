"""12366 智能咨询: the application package (settings, FastAPI app, CLI, process supervision)."""

__version__ = "0.1.0"
