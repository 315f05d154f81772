"""Alerts: which ones a business date calls for (plan), how they read (messages), how they are sent (notify,
channels, secrets), and the `alerts:` section of monitoring.yml that configures them (config)."""
