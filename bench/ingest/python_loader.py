"""The Python baseline: what a hand-written loader does (requests + psycopg2 COPY), page by page.

usage: python_loader.py FIRST_URL TABLE
"""
import csv
import io
import sys

import psycopg2
import requests


def main():
    url, table = sys.argv[1], sys.argv[2]
    conn = psycopg2.connect("")
    with conn, conn.cursor() as cur, requests.Session() as http:
        while url:
            body = http.get(url, timeout=60).json()
            buf = io.StringIO()
            writer = csv.writer(buf)
            for r in body["data"]:
                writer.writerow([r["id"], r["name"], r["price"], r["quantity"], r["active"],
                                 r["created_at"], r["category"], repr(r["score"])])
            buf.seek(0)
            cur.copy_expert("COPY %s FROM STDIN WITH (FORMAT csv)" % table, buf)
            url = body.get("next")


if __name__ == "__main__":
    main()
