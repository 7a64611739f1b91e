"""default_plugins/scenario"""
