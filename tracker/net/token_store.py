"""Where the mail provider's sign-in is kept: the OS keyring, else a private file.

What is kept is one JSON document per workspace (the provider, the account, the scopes granted
and the provider library's own token state, refresh token included). It never goes into
``tracker.toml``, the database, a log or an error message.

- The keyring (``keyring``) is used when this machine has a real backend (a desktop's Secret
  Service, macOS Keychain, Windows Credential Locker). Headless Linux servers usually have
  none (jaraco/keyring#710), so ``token_store = "auto"`` falls back to the file.
- The file, ``mail-signin.json`` in the workspace, is written atomically (a new file created
  0600, flushed, renamed over the old one) and refused when its mode lets anyone but its owner
  read it, as neomutt's mutt_oauth2.py does: a copied or restored file with loose modes must
  not quietly hand out the mailbox.

A change of the sign-in is made under a lock file beside it, so that two processes (the
watcher, the web server's workers, a command) never refresh at once: Microsoft rotates the
refresh token on every use, and the loser of such a race would keep a dead one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from tracker.config.settings import Settings
from tracker.core.errors import ConfigError

FILE_NAME = "mail-signin.json"
LOCK_NAME = ".mail-signin.lock"
KEYRING_SERVICE = "tracker mail sign-in"


class TokenStore(Protocol):
    """Keeps one JSON document: the sign-in."""

    where: str  # in words, for `tracker auth status`

    def load(self) -> dict[str, Any] | None: ...
    def save(self, document: dict[str, Any]) -> None: ...
    def delete(self) -> bool: ...


class FileStore:
    """The sign-in in a 0600 file of the workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = f"the file {path}"

    def load(self) -> dict[str, Any] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the sign-in file {self.path}: {exc.strerror}; "
                              "it must be a regular file of the user who runs tracker") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"the sign-in file {self.path} is not a regular file")
            if info.st_mode & 0o077:
                raise ConfigError(
                    f"the sign-in file {self.path} can be read by others (mode "
                    f"{stat.S_IMODE(info.st_mode):o}); run `chmod 600 {self.path}`, or "
                    "`tracker auth logout` and sign in again")
            data = handle.read(1 << 20)
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise ConfigError(f"the sign-in file {self.path} is damaged; run `tracker auth "
                              "logout`, then `tracker auth login` again") from None
        if not isinstance(document, dict):
            raise ConfigError(f"the sign-in file {self.path} is damaged; run `tracker auth "
                              "logout`, then `tracker auth login` again")
        return document

    def save(self, document: dict[str, Any]) -> None:
        data = json.dumps(document, sort_keys=True).encode()
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        _sync_dir(self.path.parent)

    def delete(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        _sync_dir(self.path.parent)
        return True


class KeyringStore:
    """The sign-in in the OS keyring, one entry per workspace."""

    def __init__(self, workspace: Path) -> None:
        self.account = str(workspace)
        self.where = "the system keyring"

    def load(self) -> dict[str, Any] | None:
        import keyring
        import keyring.errors

        try:
            text = keyring.get_password(KEYRING_SERVICE, self.account)
        except keyring.errors.KeyringError as exc:
            raise ConfigError(f"the system keyring could not be read ({exc}); unlock it, "
                              'or set [auth] token_store = "file"') from None
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ConfigError("the sign-in in the system keyring is damaged; run `tracker auth "
                              "logout`, then `tracker auth login` again")
        return document

    def save(self, document: dict[str, Any]) -> None:
        import keyring
        import keyring.errors

        try:
            keyring.set_password(KEYRING_SERVICE, self.account,
                                 json.dumps(document, sort_keys=True))
        except keyring.errors.KeyringError as exc:
            raise ConfigError(f"the system keyring could not keep the sign-in ({exc}); unlock "
                              'it, or set [auth] token_store = "file"') from None

    def delete(self) -> bool:
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(KEYRING_SERVICE, self.account)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise ConfigError(f"the system keyring could not be changed ({exc})") from None
        return True


def has_real_keyring() -> bool:
    """True when ``keyring`` has a backend that really keeps secrets on this machine."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:
        return False
    if isinstance(backend, fail.Keyring) or type(backend).__module__.endswith(".null"):
        return False
    priority = getattr(backend, "priority", 0)
    return bool(priority and priority > 0)


def token_store(settings: Settings) -> TokenStore:
    """The store ``[auth] token_store`` chooses for *settings*' workspace."""
    choice = settings.auth.token_store
    if choice == "keyring" and not has_real_keyring():
        raise ConfigError('[auth] token_store = "keyring" but this machine has no system '
                          'keyring; set token_store = "file" (a 0600 file in the workspace)')
    if choice == "keyring" or (choice == "auto" and has_real_keyring()):
        return KeyringStore(settings.workspace)
    return FileStore(settings.workspace / FILE_NAME)


@contextlib.contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """Hold the workspace's sign-in lock (between processes) for a read-refresh-save."""
    path = settings.workspace / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _sync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
