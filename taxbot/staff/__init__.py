"""The staff console: accounts and roles, sessions and API tokens, the audit log, knowledge search for
agents, FAQ drafting and review, regulation upload. Mounted by ``taxbot.routes.staff.router``."""
