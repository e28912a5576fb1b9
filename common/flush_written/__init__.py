"""The test database's reset after each test: only the collections the test wrote are emptied.

This backend has no transactions, so Django resets the database after each test with the
``flush`` command. Django's flush empties every collection, content types and permissions
included, then re-creates those through the ``post_migrate`` signal: about 75 MongoDB
commands and 0.15 s after every database test, most of a short test's time.

The test settings install this app and its command listener (``WRITTEN``, listener.py), which
notes, from the commands this process sends, which collections each database had written. The
app's ``flush`` (management/commands/flush.py, overriding Django's) then empties only those, and
re-runs ``post_migrate`` only when it emptied a collection that ``post_migrate`` fills. What the
listener cannot attribute (an unknown command, an aggregation with ``$out``, a dropped database)
and a database whose document count afterwards is not the one after a full flush (a write by
another process) get Django's full flush, so every test still starts with only the migrations'
data. Test settings only: other settings get Django's own command.
"""
