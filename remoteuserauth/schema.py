"""The plugin's tables, and the versions that brought them.

Version 1 holds the accounts of signed assertions (`bindings`), version 2
the names the front end owns (`ownership`), version 3 the personal
access tokens (`tokens`). A site that needs neither
never has to upgrade: `required_version` says which version its options
and plugins call for.
"""

import time

from trac.db.api import DatabaseManager
from trac.db.schema import Column, Index, Table

#: The plugin's schema version, in Trac's `system` table.
VERSION_NAME = 'remoteuserauth_version'

BINDINGS_VERSION = 1
OWNERS_VERSION = 2
TOKENS_VERSION = 3
VERSION = TOKENS_VERSION

TABLES = {
    BINDINGS_VERSION: [
        Table('remoteuser_binding', key='name')[
            Column('name'),
            Column('issuer'),
            Column('subject'),
            Column('time', type='int64'),
        ],
    ],
    OWNERS_VERSION: [
        Table('remoteuser_owner', key='name')[
            Column('name'),
            Column('time', type='int64'),
        ],
    ],
    TOKENS_VERSION: [
        Table('remoteuser_token', key='id')[
            Column('id'),
            Column('owner'),
            Column('name'),
            Column('digest'),
            Column('created', type='int64'),
            Column('expires', type='int64'),
            Column('last_used', type='int64'),
            Index(['digest'], unique=True),
            Index(['owner']),
        ],
    ],
}


def current_version(env):
    """The version the database is at (0: none of the tables)."""
    return DatabaseManager(env).get_database_version(VERSION_NAME) or 0


def upgrade(env, local_accounts=()):
    """Create the tables the database lacks. The first time the owners'
    table is made, the names Trac already knows through the front end
    are recorded as its: every authenticated session and login cookie
    whose name is not that of one of `local_accounts` (in any case), so
    that a door added later cannot take them."""
    dbm = DatabaseManager(env)
    existing = set(dbm.get_table_names())
    with env.db_transaction as db:
        for step in sorted(TABLES):
            missing = [table for table in TABLES[step]
                       if table.name not in existing]
            dbm.create_tables(missing)
            if step == OWNERS_VERSION and missing:
                _seed_owners(db, {a.casefold() for a in local_accounts})
        dbm.set_database_version(VERSION, VERSION_NAME)


def _seed_owners(db, local_keys):
    known = {sid for sid, in db("SELECT sid FROM session "
                                "WHERE authenticated=1")}
    known.update(name for name, in db("SELECT DISTINCT name "
                                      "FROM auth_cookie"))
    now = int(time.time())
    for name in sorted(known):
        if name and name.casefold() not in local_keys:
            db("INSERT INTO remoteuser_owner (name, time) VALUES (%s, %s)",
               (name, now))
