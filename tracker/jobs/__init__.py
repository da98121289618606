"""What runs by itself: the scheduled jobs (weekly report, reminders) and the mailbox
watcher.
"""
