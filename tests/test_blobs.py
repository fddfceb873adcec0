"""Evidence files: stored once by content, typed by their bytes, never by a name."""

import hashlib
import io
import zipfile

import pytest
from PIL import Image

from fieldkit.core.errors import NotFound, ValidationFailed
from fieldkit.core.store.blobs import DOCX, XLSX, BlobStore


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(tmp_path)


def png(size=(640, 480), color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def office_file(main_part):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main_part, "<x/>")
    return out.getvalue()


def test_the_same_content_is_stored_once(blobs, tmp_path):
    first = blobs.put(png())
    second = blobs.put(io.BytesIO(png()))

    assert first == second
    assert first.sha256 == hashlib.sha256(png()).hexdigest()
    stored = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert stored == [tmp_path / "blobs" / first.sha256[:2] / first.sha256[2:]]
    assert blobs.get(first.sha256) == png()
    with blobs.open(first.sha256) as stream:
        assert stream.read() == png()


@pytest.mark.parametrize("data, media_type", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "image/jpeg"),
    (png(), "image/png"),
    (b"GIF89a" + b"\x00" * 20, "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "image/webp"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    (office_file("word/document.xml"), DOCX),
    (office_file("xl/workbook.xml"), XLSX),
    ("Biên bản làm việc với UBND xã\n".encode(), "text/plain"),
])
def test_the_media_type_comes_from_the_bytes(blobs, data, media_type):
    assert blobs.put(data).media_type == media_type


def test_a_text_file_named_like_a_photo_is_text(blobs, tmp_path):
    named = tmp_path / "anh-hien-truong.jpg"
    named.write_text("không phải ảnh", encoding="utf-8")

    with open(named, "rb") as upload:
        assert blobs.put(upload).media_type == "text/plain"


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows program
    b"\x7fELF\x02\x01\x01\x00",
    b"PK\x03\x04not really a zip",
    "a latin-1 file: caf\xe9".encode("latin-1"),
    b"text with a NUL \x00 byte",
])
def test_other_file_types_are_refused_and_not_stored(blobs, tmp_path, data):
    with pytest.raises(ValidationFailed, match="File type not accepted"):
        blobs.put(data)
    assert not any(p.is_file() for p in (tmp_path / "blobs").rglob("*"))


def test_a_file_over_the_limit_is_refused_before_anything_is_written(tmp_path):
    blobs = BlobStore(tmp_path, max_bytes=1024)

    with pytest.raises(ValidationFailed, match="larger than the limit of 1 KB"):
        blobs.put(io.BytesIO(b"a" * 1025))
    with pytest.raises(ValidationFailed, match="larger than the limit"):
        blobs.put(b"a" * 5000)
    assert blobs.put(b"a" * 1024).size == 1024
    assert len([p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]) == 1


def test_the_default_limit_is_25_megabytes(blobs):
    with pytest.raises(ValidationFailed, match="limit of 25 MB"):
        blobs.put(b"a" * (25 * 1024 * 1024 + 1))


def test_data_whose_hash_differs_from_the_announced_one_is_refused(blobs):
    data = "báo cáo".encode()
    wrong = hashlib.sha256(b"something else").hexdigest()

    with pytest.raises(ValidationFailed, match="does not match its hash"):
        blobs.put_expected(wrong, data)
    assert not blobs.has(wrong)

    right = hashlib.sha256(data).hexdigest()
    assert blobs.put_expected(right, data).sha256 == right
    assert blobs.missing([wrong, right, wrong]) == [wrong]


@pytest.mark.parametrize("sha", [
    "../../etc/passwd",
    "ab/../../secret",
    "0" * 63,
    "0" * 64 + "\n",
    "A" * 64,
    "/" + "0" * 63,
    None,
])
def test_a_hash_that_is_not_hex_never_becomes_a_path(blobs, sha):
    for use in (blobs.has, blobs.get, blobs.path, blobs.verify, blobs.open, blobs.thumbnail):
        with pytest.raises(ValidationFailed, match="not a sha256 hash"):
            use(sha)
    with pytest.raises(ValidationFailed, match="not a sha256 hash"):
        blobs.put_expected(sha, b"text")


def test_verify_notices_a_damaged_file(blobs):
    info = blobs.put(b"original text")
    assert blobs.verify(info.sha256)

    blobs.path(info.sha256).write_bytes(b"changed text")

    assert not blobs.verify(info.sha256)
    assert not blobs.verify("0" * 64)
    with pytest.raises(NotFound):
        blobs.get("0" * 64)


def test_a_thumbnail_of_a_photo_is_a_small_jpeg_kept_for_next_time(blobs):
    info = blobs.put(png(size=(1200, 800)))

    thumb = blobs.thumbnail(info.sha256)

    image = Image.open(io.BytesIO(thumb))
    assert image.format == "JPEG" and max(image.size) == 256 and image.size == (256, 171)
    assert blobs.thumbnail(info.sha256) == thumb
    assert blobs.path(info.sha256).with_name(info.sha256[2:] + ".thumb256.jpg").is_file()
    assert max(Image.open(io.BytesIO(blobs.thumbnail(info.sha256, size=64))).size) == 64


def test_a_transparent_image_gets_a_white_background(blobs):
    out = io.BytesIO()
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(out, "PNG")

    thumb = Image.open(io.BytesIO(blobs.thumbnail(blobs.put(out.getvalue()).sha256, size=32)))

    assert thumb.getpixel((16, 16)) > (240, 240, 240)


def test_there_is_no_thumbnail_of_a_document(blobs):
    info = blobs.put(b"%PDF-1.7\n")
    with pytest.raises(ValidationFailed, match="No thumbnail"):
        blobs.thumbnail(info.sha256)
