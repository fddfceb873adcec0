"""Document id -> seq of its current version, in two arrays of 8-byte numbers: the field
store's id index for 100,000 documents in ~4 MB instead of ~16 MB as a dict (see
``index.py``)."""

from array import array


class SeqsById:
    """Document id -> seq of its current version, without a Python object per id.

    As a dict, 100k ids cost ~16 MB (each id a string, each seq an int, the table); here they
    are an open-addressing table of two 8-byte numbers a slot, the id's ``hash()`` and the
    seq (~4 MB). Ids may share a hash, so ``candidates`` gives every seq stored under the
    id's hash and the caller keeps the one whose document has that id. A seq belongs to one
    document only, so (hash, seq) names one slot.
    """

    _FREE, _REMOVED = 0, -1  # the seq of a slot never used, and of one whose id was removed

    def __init__(self, hash_id=hash):
        self._hash = hash_id  # tests pass a poor one, to make ids share hashes
        self._allocate(1024)
        self._live = 0

    def _allocate(self, capacity):
        self._hashes = array("q", bytes(8 * capacity))
        self._seqs = array("q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._used = 0  # slots not free: live and removed ones

    def __len__(self):
        return self._live

    def candidates(self, doc_id):
        key, hashes, seqs, mask = self._hash(doc_id), self._hashes, self._seqs, self._mask
        found, slot = [], key & mask
        while (seq := seqs[slot]) != self._FREE:  # the probe sequence ends at a free slot
            if seq > 0 and hashes[slot] == key:
                found.append(seq)
            slot = (slot + 1) & mask
        return found

    def add(self, doc_id, seq):
        """Add an id that is not in the table (the caller checked ``candidates``)."""
        if (self._used + 1) * 3 > len(self._seqs) * 2:
            self._grow()
        self._insert(self._hash(doc_id), seq)
        self._live += 1

    def _insert(self, key, seq):
        seqs, mask = self._seqs, self._mask
        slot = key & mask
        while seqs[slot] > 0:
            slot = (slot + 1) & mask
        if seqs[slot] == self._FREE:
            self._used += 1
        self._hashes[slot], seqs[slot] = key, seq

    def replace(self, doc_id, old_seq, new_seq):
        self._seqs[self._slot(doc_id, old_seq)] = new_seq

    def remove(self, doc_id, seq):
        self._seqs[self._slot(doc_id, seq)] = self._REMOVED
        self._live -= 1

    def _slot(self, doc_id, seq):
        key, hashes, seqs, mask = self._hash(doc_id), self._hashes, self._seqs, self._mask
        slot = key & mask
        while seqs[slot] != seq or hashes[slot] != key:
            if seqs[slot] == self._FREE:
                raise KeyError(doc_id)
            slot = (slot + 1) & mask
        return slot

    def _grow(self):
        """Rehash into a table at most a third full (removed slots are dropped)."""
        hashes, seqs = self._hashes, self._seqs
        capacity = len(seqs)
        while self._live * 3 >= capacity:
            capacity *= 2
        self._allocate(capacity)
        for key, seq in zip(hashes, seqs):
            if seq > 0:
                self._insert(key, seq)
