"""The network adapters: IMAP (read-only), SMTP, TLS policy, secrets from the environment
or a command.
"""
