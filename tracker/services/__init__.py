"""The use cases both faces call: the workspace, requests and letters, sending, inbound
mail (storage, sync, import, triage), status, reminders.
"""
