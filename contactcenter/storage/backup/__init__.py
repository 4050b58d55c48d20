"""Backup and restore: one archive file with a consistent snapshot of the whole database.

Archive format (``FORMAT_VERSION`` 1): a gzip-compressed tar whose members are, in this order,

* ``data/<table>.jsonl``: every table, in the tables' dependency order (parents first), one JSON
  object per row with every column by name, rows in primary-key order;
* ``audio/<file>``: with ``--include-audio``, each recording's audio, ``<file>`` being the
  path relative to the recordings root, as the recordings index names it;
* ``files/<set>/<file>``: with ``--include-attachments``, each file another table names
  (the set ``chat_attachments``: ``chat_attachments.key`` under ``chat.attachments_dir``),
  listed and checked as the audio is (``file_sets`` in the manifest);
* ``manifest.json``, last, since it holds the sha256 and size of every other member: format
  version, ``created_at``, the schema revision, the source dialect and database (password
  hidden), per-table row counts and columns, the recordings root and whether audio is included,
  and every file the recordings index names with its size and sha256 (``null`` when the file
  was not there at backup time) and its member (``null`` when the audio is only referenced).

One format for both dialects, so a SQLite backup restores into PostgreSQL and back. Values:
integers, booleans and strings as JSON; floats as JSON numbers (Python writes the shortest
text that reads back as the same double), non-finite ones as ``"NaN"``, ``"Infinity"``,
``"-Infinity"``; datetimes as ISO 8601, timezone-aware columns in UTC with ``+00:00`` (SQLite
hands back naive values, which are UTC by the project's convention, see ``audit.py``); JSON
columns as their JSON text, verbatim, so that a SQL NULL (``null``) stays distinct from a JSON
null (``"null"``) and numbers inside keep their digits.

Consistency while the server writes: SQLite is copied with its online backup API (one step,
so no write lands half-way; WAL lets the server go on writing meanwhile) and the rows are read
from the copy; PostgreSQL is read through one ``REPEATABLE READ READ ONLY`` transaction, which
sees every table as of the same instant.

Restore verifies the whole archive before touching anything (see ``verify_archive``), requires
an empty database at no revision or at this release's, creates the schema at head, then inserts
every row in one transaction (and on PostgreSQL moves the id sequences past the restored ids),
so a failure leaves no row behind. Audio is written under the recordings root to temporary
names first and renamed into place only once the database has committed.
"""
