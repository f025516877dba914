"""Secrets kept off the About page: Trac shows every trac.ini value
there to anyone holding CONFIG_VIEW."""

from trac.core import Component, implements
from trac.web.api import IRequestFilter

from remoteuserauth.core import masking


class SecretMask(Component):
    """Keeps `[remoteuser] secret` and other secrets off the About page.

    Trac shows every trac.ini value there to anyone holding CONFIG_VIEW;
    secrets are replaced by "(set, not shown)" and URL passwords masked
    (see `remoteuserauth.masking`). The TracIni macro shows defaults
    only, never the values set.
    """

    implements(IRequestFilter)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        return handler

    def post_process_request(self, req, template, data, metadata):
        # Trac's AboutModule puts trac.config.get_configinfo() there;
        # a plugin that renders it again is masked the same way.
        if isinstance(data, dict) and 'config' in data:
            masking.mask_configinfo(data['config'])
        return template, data, metadata
