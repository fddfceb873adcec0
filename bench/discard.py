"""The discard endpoint: a tiny WSGI app that reads a request body whole and throws it away.
The transport baseline of the push cases: the same bytes POSTed, served the same way as HQ
(``python -m bench.discard --port P`` uses werkzeug's threaded server like ``fieldkit hq
serve``; gunicorn serves ``bench.discard:app``)."""

import argparse

ANSWER = b'{"results":[],"counts":{}}'


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    while length > 0:
        chunk = stream.read(min(length, 1 << 16))
        if not chunk:
            break
        length -= len(chunk)
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]


def main():
    from werkzeug.serving import make_server
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    make_server("127.0.0.1", args.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
