"""Moving accepted work from the outbox to the channels, and reports back."""
