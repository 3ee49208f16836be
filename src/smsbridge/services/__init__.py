"""Use cases the doors call. No door writes to the database itself."""
