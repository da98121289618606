"""Does the manifest agree with itself? Messages, files and event logs must tell one story.

Hashes prove that files are as the manifest lists them; these checks prove that the manifest is
as tracker writes one: a message taken out of both the zip and ``files[]`` still leaves a gap in
its request's numbers, and a file slipped into both belongs to no message. Pure: each check
takes the typed manifest and returns ``(path, what is wrong)`` pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Set

from tracker.evidence.format import MANIFEST, TIMELINE
from tracker.evidence.schema import FileRecord, Manifest, MessageRecord

Finding = tuple[str, str]  # the path it is about, and what is wrong


def check_consistency(manifest: Manifest, listed: Mapping[str, FileRecord],
                      events: Mapping[str, Set[int]], skip: Set[str]) -> list[Finding]:
    """Every way *manifest* contradicts itself; paths in *skip* (unsafe, reported) are left out.

    *events*: for each request's event log that could be read, the message numbers it names.
    """
    refs = [request.ref for request in manifest.requests]
    found = [(MANIFEST, f"request {ref} is listed twice in requests[]")
             for ref, n in sorted(Counter(refs).items()) if n > 1]
    found += _numbers(manifest, set(refs))
    owners: dict[str, str] = {TIMELINE: "the timeline"}
    for request in manifest.requests:
        expected = f"{request.ref}/events.json"
        if request.events != expected:
            found.append((request.events, f"{request.where}.events should be {expected}"))
        elif request.events not in skip:
            found += _own(owners, request.events, f"the event log of {request.ref}")
            if request.events not in listed:
                found.append((request.events, f"the event log of {request.ref}; files[] does "
                              "not list it"))
    for message in manifest.messages:
        found += _message(message, listed, owners, skip)
    for path in sorted(set(listed) - set(owners) - skip):
        found.append((path, "listed in files[] but belongs to no message or request"))
    numbers = _numbers_by_ref(manifest)
    for request in manifest.requests:
        answer = request.answered_by
        if answer is not None and answer not in numbers.get(request.ref, set()):
            found.append((MANIFEST, f"{request.where}.deadline.answered_by names message "
                          f"{answer}, which {request.ref} does not have"))
    for ref, named in sorted(events.items()):
        for number in sorted(named - numbers.get(ref, set())):
            found.append((f"{ref}/events.json", f"an event names message {number}, which "
                          f"{ref} does not have"))
    return found


def _numbers_by_ref(manifest: Manifest) -> dict[str, set[int]]:
    numbers: dict[str, set[int]] = {}
    for message in manifest.messages:
        numbers.setdefault(message.request, set()).add(message.number)
    return numbers


def _numbers(manifest: Manifest, refs: Set[str]) -> Iterator[Finding]:
    """Each request's messages are numbered 1..n, each number once."""
    counts: dict[str, Counter[int]] = {}
    for message in manifest.messages:
        if message.request not in refs:
            yield MANIFEST, (f"{message.where} belongs to request {message.request}, which "
                             "requests[] does not list")
        counts.setdefault(message.request, Counter())[message.number] += 1
    for ref, numbers in sorted(counts.items()):
        for number, n in sorted(numbers.items()):
            if n > 1:
                yield MANIFEST, f"{ref} has {n} messages numbered {number}"
        # One finding a gap, found from the numbers present: a forged number such as 10**18
        # must not make a finding for each number missing below it.
        last = max(numbers)
        expected = 1
        for number in sorted(n for n in numbers if n >= 1):
            if number > expected:
                missing = (f"message {expected}" if number == expected + 1
                           else f"messages {expected} to {number - 1}")
                yield MANIFEST, (f"{ref} has no {missing}: its messages must run from 1 to "
                                 f"{last} without a gap")
            expected = number + 1


def _own(owners: dict[str, str], path: str, owner: str) -> list[Finding]:
    """Note that *path* belongs to *owner*; a path that belongs to two is a finding."""
    other = owners.setdefault(path, owner)
    return [] if other == owner else [(path, f"belongs to {other} and to {owner}")]


def _message(message: MessageRecord, listed: Mapping[str, FileRecord], owners: dict[str, str],
             skip: Set[str]) -> list[Finding]:
    """A message's file and attachments: listed, with its hash, under its request and number."""
    ref, number = message.request, message.number
    name = f"message {number:03d} of {ref}"
    found: list[Finding] = []
    if message.file is not None and message.file not in skip:
        found += _own(owners, message.file, name)
        found += _placed(message.file, f"{ref}/messages/{number:03d}-", name)
        record = listed.get(message.file)
        if record is None:
            found.append((message.file, f"the file of {name}; files[] does not list it"))
        elif message.sha256 != record.sha256:
            found.append((message.file, f"the SHA-256 stored with {name} is not its file's"))
    for attachment in message.attachments:
        found += _part(attachment, f"{ref}/attachments/{number:03d}-", "an attachment",
                       "an attachment of", name, listed, owners, skip)
    for document in message.documents:
        found += _part(document, f"{ref}/documents/{number:03d}-", "a kept file",
                       "a file kept with", name, listed, owners, skip)
    return found


def _part(part: FileRecord, prefix: str, kind: str, of: str, name: str,
          listed: Mapping[str, FileRecord], owners: dict[str, str],
          skip: Set[str]) -> list[Finding]:
    """A file of a message (an attachment, a kept file): its own, under its message's prefix,
    listed in files[] with the size and SHA-256 the message gives."""
    if part.path in skip:
        return []
    found = _own(owners, part.path, f"{name} ({kind})")
    found += _placed(part.path, prefix, name)
    record = listed.get(part.path)
    if record is None:
        found.append((part.path, f"{of} {name}; files[] does not list it"))
    elif (record.sha256, record.size) != (part.sha256, part.size):
        found.append((part.path, f"{of} {name}: its size or SHA-256 in the message is not "
                      "the one files[] lists"))
    return found


def _placed(path: str, prefix: str, name: str) -> list[Finding]:
    if path.startswith(prefix) and "/" not in path[len(prefix):]:
        return []
    return [(path, f"{name} must have its files under {prefix}...")]
