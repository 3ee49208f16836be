"""HTTP doors: the native API (v1) and, mounted beside it, the compatibility APIs."""
