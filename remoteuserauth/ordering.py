"""Which of the plugin's components Trac asks first.

Trac asks the implementations of an interface in the order their classes
were defined. Under tracd, Trac's own LoginModule comes first and
answers with a stale `trac_auth` cookie before the front end's name is
looked at; under gunicorn or mod_wsgi the order depends on how plugins
happened to load. The components that must see a request first say so
here, so that the order is the same in every server.
"""

from trac.core import ComponentMeta


def ask_first(cls, interface):
    """Make `cls` the first implementation of `interface` that Trac
    asks (unless trac.ini lists an order, as `[trac] request_filters`
    may)."""
    classes = ComponentMeta._registry.setdefault(interface, [])
    if cls in classes:
        classes.remove(cls)
    classes.insert(0, cls)
