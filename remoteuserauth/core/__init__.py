"""The pure logic under the plugin, one concern a module: the name
policy (`names`), group entries (`groups`), trusted peers and header
keys (`trust`), the client's address behind proxies (`clientaddress`),
public URLs and safe redirects (`urls`), which door may log a name in
(`doors`), the secret file (`secretfile`), secrets kept off pages
(`masking`), the log's throttle (`throttle`) and what a new name policy
would merge (`collisions`).

Nothing here imports Trac: each module is tested directly, and the
Trac components above are thin adapters over it.
"""
