"""Notifications: the daemon tells the user when work needs them (docs/notifications.md).

``service`` holds the channels and listens to every workspace's events through the event
bus's tap; ``facts`` turns an event into what a message says; ``worker`` is one channel's
bounded queue, coalescing and delivery with retries; ``settings`` the knobs."""

from hangar.daemon.notify.service import NotifyService
from hangar.daemon.notify.settings import NotifySettings

__all__ = ["NotifyService", "NotifySettings"]
