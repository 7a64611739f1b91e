"""rcmflow's own features, each a plugin written against the public plugin API only,
registered like any other (`rcmflow.plugins.DEFAULT_PLUGINS`)."""
