"""Evidence files, stored once by content: ``<dir>/blobs/ab/cdef…`` named by their sha256.

Files are written atomically (temporary file, fsync, ``os.replace``), so a blob is either
whole or absent. What a file *is* comes from its bytes, never from its name: a photo named
``.pdf`` is a photo, and a text file named ``.jpg`` is text. The only thing that ever becomes a
path is a validated hexadecimal hash.

With a ``cipher`` (an encrypted station, see ``crypto.py``) each blob and thumbnail file holds
the AES-256-GCM encryption of its bytes, bound to its hash; the name stays the sha256 of the
*plaintext*, so identical files are still stored once and sync still finds them by hash (the
name shows which stations hold the same file, not what the file holds).
"""

import hashlib
import io
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import NotFound, StoreError, ValidationFailed
from .crypto import is_encrypted_file
from .files import atomic_write

MAX_BYTES = 25 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1024 * 1024

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"}
# Brands of the ISO media file ``ftyp`` box that mean a HEIF still image.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
# Control characters that do not belong in plain text (tab, newline, form feed, CR do).
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class BlobInfo:
    """What was stored: the content hash, the size in bytes and the sniffed media type."""

    sha256: str
    size: int
    media_type: str

    def as_dict(self):
        return asdict(self)


def sniff_media_type(data):
    """The media type of ``data`` judged from its bytes, or None if it is not accepted."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
        return None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return _office_type(data)
    return _text_type(data)


def _office_type(data):
    """DOCX or XLSX: a zip holding ``[Content_Types].xml`` and the main part of either."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def _text_type(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _NOT_TEXT.search(text) else "text/plain"


class BlobStore:
    """Content-addressed evidence files in ``<directory>/blobs``; several processes may share
    one directory (writes are atomic and a hash names one content)."""

    def __init__(self, directory, max_bytes=MAX_BYTES, cipher=None):
        self.directory = Path(directory)
        self.cipher = cipher
        self.root = self.directory / "blobs"
        self.max_bytes = max_bytes
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"The evidence folder {self.root} cannot be created "
                             f"({exc}).") from None

    def __repr__(self):
        return f"<BlobStore {str(self.root)!r}>"

    # --- writing -------------------------------------------------------------------------

    def put(self, data):
        """Store ``data`` (bytes or a binary file) once; its ``BlobInfo``. Refuses files that
        are too large or of a type not accepted, before anything is written."""
        data = self._read_limited(data)
        return self._store(hashlib.sha256(data).hexdigest(), data)

    def put_expected(self, sha, data):
        """Store ``data`` that was announced as ``sha`` (sync); refuses it if the hash differs."""
        sha = self._checked(sha)
        data = self._read_limited(data)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ValidationFailed(
                f"The received file does not match its hash (expected {sha}, got {actual}); "
                f"it was not stored.", {"file": ["hash mismatch"]})
        return self._store(sha, data)

    def _read_limited(self, data):
        if isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data)
        elif hasattr(data, "read"):
            chunks, total = [], 0
            while total <= self.max_bytes:
                chunk = data.read(min(_CHUNK, self.max_bytes + 1 - total))
                if not chunk:
                    break
                if not isinstance(chunk, bytes):
                    raise ValidationFailed("The file must be opened in binary mode.")
                chunks.append(chunk)
                total += len(chunk)
            data = b"".join(chunks)
        else:
            raise ValidationFailed("A file must be given as bytes or a binary file.")
        if len(data) > self.max_bytes:
            raise _refused(f"The file is larger than the limit of {_megabytes(self.max_bytes)}; "
                           f"make it smaller (for a photo, a lower resolution) and try again.")
        if not data:
            raise _refused("The file is empty.")
        return data

    def _store(self, sha, data):
        media_type = sniff_media_type(data)
        if media_type is None:
            raise _refused("File type not accepted: use a photo (JPEG, PNG, GIF, WebP, "
                           "HEIC), a PDF, a Word or Excel file (DOCX, XLSX) or plain text.")
        path = self._path(sha)
        if not path.exists():
            try:
                path.parent.mkdir(exist_ok=True)
                atomic_write(path, [self._seal(data, _blob_context(sha))])
            except OSError as exc:
                raise StoreError(f"The evidence file could not be stored ({exc}).") from exc
        return BlobInfo(sha, len(data), media_type)

    # --- reading -------------------------------------------------------------------------

    def has(self, sha):
        return self._path(self._checked(sha)).is_file()

    def missing(self, shas):
        """The hashes of ``shas`` not stored here, in the given order, each once."""
        seen, absent = set(), []
        for sha in shas:
            if sha not in seen:
                seen.add(sha)
                if not self.has(sha):
                    absent.append(sha)
        return absent

    def path(self, sha):
        """The file of a stored blob (``NotFound`` if absent); encrypted if the station is."""
        path = self._path(self._checked(sha))
        if not path.is_file():
            raise NotFound(f"No evidence file with hash {sha}.")
        return path

    def open(self, sha):
        """The stored blob as a binary file object (close it after use)."""
        if self.cipher is not None:
            return io.BytesIO(self.get(sha))
        return open(self.path(sha), "rb")

    def get(self, sha):
        """The bytes of a stored blob (decrypted)."""
        path = self.path(sha)
        return self._unseal(path.read_bytes(), _blob_context(sha), f"The evidence file {path}")

    def info(self, sha):
        data = self.get(sha)
        return BlobInfo(sha, len(data), sniff_media_type(data) or "application/octet-stream")

    def verify(self, sha):
        """True if the stored file still hashes to ``sha`` (False if damaged or absent)."""
        path = self._path(self._checked(sha))
        if self.cipher is not None:
            try:
                return hashlib.sha256(self.get(sha)).hexdigest() == sha
            except (NotFound, StoreError):
                return False
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as blob:
                for chunk in iter(lambda: blob.read(_CHUNK), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha

    # --- thumbnails ----------------------------------------------------------------------

    def thumbnail(self, sha, size=256):
        """A JPEG no larger than ``size`` pixels a side, of a stored image; made once and kept
        beside the blob (``<blob>.thumb<size>.jpg``)."""
        if not isinstance(size, int) or not 16 <= size <= 2048:
            raise ValidationFailed("A thumbnail size must be a whole number from 16 to 2048.")
        source = self.path(sha)
        cached = source.with_name(f"{source.name}.thumb{size}.jpg")
        context = _blob_context(sha, f"thumb{size}")
        if cached.is_file():
            try:
                return self._unseal(cached.read_bytes(), context, f"The thumbnail {cached}")
            except StoreError:
                pass  # a cache: a damaged one is made again
        data = _make_thumbnail(io.BytesIO(self.get(sha)), size)
        atomic_write(cached, [self._seal(data, context)], fsync=False)  # a cache: remade if lost
        return data

    # --- encryption ----------------------------------------------------------------------

    def _seal(self, data, context):
        return data if self.cipher is None else self.cipher.seal_file(data, context)

    def _unseal(self, raw, context, what):
        if self.cipher is not None:
            return self.cipher.open_file(raw, context, what)
        if is_encrypted_file(raw):
            raise StoreError(f"{what} is encrypted: open the station with its passphrase.")
        return raw

    # --- paths ---------------------------------------------------------------------------

    def _checked(self, sha):
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise ValidationFailed(f"{str(sha)[:80]!r} is not a sha256 hash (64 lowercase "
                                   f"hexadecimal characters).", {"sha256": ["not a hash"]})
        return sha

    def _path(self, sha):
        return self.root / sha[:2] / sha[2:]


def _blob_context(sha, kind="blob"):
    """The associated data of an encrypted blob file: it holds *this* hash's bytes."""
    return f"fieldkit/{kind}/{sha}".encode()


def _make_thumbnail(source, size):
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            image = ImageOps.exif_transpose(image)  # phone photos: honour the orientation
            image.thumbnail((size, size))
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, "white")
                background.paste(image, mask=image.getchannel("A"))
                image = background
            elif image.mode != "RGB":
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        raise ValidationFailed(f"No thumbnail can be made of this file ({exc}); only photos "
                               f"in a format the station can read have thumbnails.") from None


def _refused(message):
    return ValidationFailed(message, {"file": [message]})


def _megabytes(count):
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MB"
    return f"{count / 1024:g} KB" if count >= 1024 else f"{count} bytes"
