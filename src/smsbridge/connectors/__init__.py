"""Back doors: one module per delivery channel, all behind :class:`connectors.base.Connector`."""
