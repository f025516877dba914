"""The decision: who, if anyone, the front end says a request comes
from. `settings` turns the options into what the decision needs,
`decide` makes it from a WSGI environment, `explain` tells an
administrator why. Nothing here imports Trac.
"""

from remoteuserauth.decision.decide import (
    ASSERTION, GROUP_DROPPED, HEADER, HEADER_IGNORED, NO_ASSERTION, NO_CLAIM,
    NO_PROFILE, PROFILE_IGNORED, SERVER, SOURCE_IGNORED, Decision, Note,
    Profile, decide)
from remoteuserauth.decision.settings import (AssertionSettings, Settings,
                                              make_settings)

__all__ = ['ASSERTION', 'AssertionSettings', 'Decision', 'GROUP_DROPPED',
           'HEADER', 'HEADER_IGNORED', 'NO_ASSERTION', 'NO_CLAIM',
           'NO_PROFILE', 'Note', 'PROFILE_IGNORED', 'Profile', 'SERVER',
           'SOURCE_IGNORED', 'Settings', 'decide', 'make_settings']
