"""QR codes, made locally with the qrcode library (no service is contacted).

One place for the join QR of the field station, enrollment codes at HQ and the
verification code printed on reports.
"""

import io


def qr_svg(text, box_size=10):
    """The QR code of ``text`` as SVG markup to inline in HTML (no script, no reference)."""
    import qrcode
    import qrcode.image.svg
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size,
                        border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    return svg[svg.index("<svg"):]  # drop the XML declaration


def qr_png(text, box_size=8):
    """The QR code of ``text`` as PNG bytes."""
    import qrcode
    buffer = io.BytesIO()
    qrcode.make(text, box_size=box_size, border=2).save(buffer, format="PNG")
    return buffer.getvalue()


def qr_terminal(text, out):
    """Print the QR code of ``text`` with text characters, for a terminal."""
    import qrcode
    code = qrcode.QRCode(border=1)
    code.add_data(text)
    code.make(fit=True)
    code.print_ascii(out=out, invert=True)
