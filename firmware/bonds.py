"""The BLE bond store: the secrets NimBLE asks for (``_IRQ_GET_SECRET``) and hands over
(``_IRQ_SET_SECRET``), kept in RAM and in one small versioned file on flash (docs/link.md
"Security").

File ``hs_bonds.bin``, little-endian: ``b"HSB"``, u8 version (1), u8 entry count, then per
entry u8 ``sec_type``, u8 key length, u8 value length, key, value. NimBLE's key is the peer's
address (type + 6 bytes); the value is its opaque security record (keys, key size, flags).
At most ``max_peers`` hosts: a new host's secrets push out the oldest host's. Client
characteristic configuration records (``sec_type`` 3) are accepted and not kept: a host
subscribes again on every connection. About 100 bytes of RAM per entry, two entries per host.
"""

import os

from micropython import const

_BONDS_FILE = const("hs_bonds.bin")
_MAGIC = const(b"HSB")
_VERSION = const(1)
_SEC_CCCD = const(3)  # NimBLE BLE_STORE_OBJ_TYPE_CCCD: not kept
_MAX_PEERS = const(4)
_MAX_ENTRIES = const(16)  # a bound on what a damaged file can make us load


class BondStore:
    def __init__(self, path=_BONDS_FILE, max_peers=_MAX_PEERS):
        self.path = path
        self.max_peers = max_peers
        self.entries = []  # [sec_type, key bytes, value bytes], oldest first
        self.dirty = False  # changed since the last save (the main loop saves)
        self.error = None  # why the file could not be read, if it could not
        self._load()

    def _load(self):
        try:
            with open(self.path, "rb") as f:
                data = f.read(4096)
        except OSError:
            return  # no bonds yet
        if len(data) < 5 or data[:3] != _MAGIC or data[3] != _VERSION:
            self.error = "bond file: unknown format, ignored"
            return
        count = data[4]
        i = 5
        entries = []
        for _ in range(count if count < _MAX_ENTRIES else _MAX_ENTRIES):
            if i + 3 > len(data):
                break
            kn = data[i + 1]
            vn = data[i + 2]
            end = i + 3 + kn + vn
            if end > len(data):
                break
            entries.append(
                [data[i], bytes(data[i + 3 : i + 3 + kn]), bytes(data[i + 3 + kn : end])]
            )
            i = end
        if len(entries) != count:
            self.error = "bond file: damaged, %d of %d entries kept" % (len(entries), count)
        self.entries = entries

    def save(self):
        """Write the file (atomically: a temporary file renamed over the old one)."""
        self.dirty = False
        if not self.entries:
            try:
                os.remove(self.path)
            except OSError:
                pass
            return
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(_MAGIC + bytes((_VERSION, len(self.entries))))
            for sec_type, key, value in self.entries:
                f.write(bytes((sec_type, len(key), len(value))))
                f.write(key)
                f.write(value)
        os.rename(tmp, self.path)

    def peers(self):
        """The distinct peer keys, oldest first."""
        out = []
        for e in self.entries:
            if e[1] not in out:
                out.append(e[1])
        return out

    def has_peer(self, key):
        k = bytes(key)
        return any(e[1] == k for e in self.entries)

    def get(self, sec_type, index, key):
        """``_IRQ_GET_SECRET``: the value for ``key``, or (``key`` None) the ``index``-th of
        this type; None when there is none."""
        if key is None:
            for e in self.entries:
                if e[0] == sec_type:
                    if index == 0:
                        return e[2]
                    index -= 1
            return None
        k = bytes(key)
        for e in self.entries:
            if e[0] == sec_type and e[1] == k:
                return e[2]
        return None

    def set(self, sec_type, key, value):
        """``_IRQ_SET_SECRET``: store (``value`` None: delete) the secret; True when done."""
        if sec_type == _SEC_CCCD:
            return True
        k = bytes(key)
        found = False
        for e in self.entries:
            if e[0] == sec_type and e[1] == k:
                self.entries.remove(e)
                found = True
                break
        if value is None:
            self.dirty = self.dirty or found
            return found
        if not self.has_peer(k):
            peers = self.peers()
            while len(peers) >= self.max_peers:
                self.remove_peer(peers.pop(0))
        self.entries.append([sec_type, k, bytes(value)])
        self.dirty = True
        return True

    def remove_peer(self, key):
        self.entries = [e for e in self.entries if e[1] != key]
        self.dirty = True

    def clear(self):
        """Forget every host (``board forget``)."""
        self.entries = []
        self.dirty = True
