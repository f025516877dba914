"""TracRemoteUserAuth: Trac behind a reverse proxy or single sign-on.

Believes the user name a trusted front end hands over, cleans it,
refuses what is dangerous, and makes redirects, links and cookies follow
the public address of the site.
"""

__version__ = '0.1.0'
