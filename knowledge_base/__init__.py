"""knowledge_base package."""
