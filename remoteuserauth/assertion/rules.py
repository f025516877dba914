"""Why an assertion is refused: one name per rule, shared by every step
of the check and by those who explain it (`Verdict.rule`).

Nothing here imports Trac."""

#: Why a token was refused; `Verdict.rule`.
CONFIG = 'configuration'
NOT_BEARER = 'not-bearer'
SEVERAL = 'several-values'
TOO_LARGE = 'too-large'
MALFORMED = 'malformed'
UNSUPPORTED = 'unsupported-header'
FORBIDDEN_ALGORITHM = 'forbidden-algorithm'
ALGORITHM = 'algorithm'
NO_KEYS = 'no-keys'
UNKNOWN_KEY = 'unknown-key'
NO_KID = 'no-kid'
KEY_MISMATCH = 'key-mismatch'
SIGNATURE = 'bad-signature'
NO_EXPIRY = 'no-exp'
EXPIRED = 'expired'
NOT_YET_VALID = 'not-yet-valid'
ISSUED_IN_FUTURE = 'issued-in-future'
ISSUER = 'wrong-issuer'
AUDIENCE = 'wrong-audience'

#: Refusals that mean "no assertion was sent" (an ``Authorization``
#: header with another scheme, such as a browser's Basic credentials):
#: nobody, rather than a forged or broken assertion.
NOBODY = frozenset((NOT_BEARER,))


class Refusal(Exception):
    """Raised by a step of the check that refuses the token."""

    def __init__(self, rule, reason):
        Exception.__init__(self, reason)
        self.rule = rule
        self.reason = reason
