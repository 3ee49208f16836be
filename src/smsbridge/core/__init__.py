"""Pure domain code: no web framework, no database."""
