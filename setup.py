#!/usr/bin/env python3
"""TracRemoteUserAuth: Trac behind a reverse proxy or single sign-on."""

import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(name):
    with open(os.path.join(HERE, name), encoding='utf-8') as f:
        return f.read()


VERSION = re.search(r"__version__ = '([^']+)'",
                    read('remoteuserauth/__init__.py')).group(1)

setup(
    name='TracRemoteUserAuth',
    version=VERSION,
    description='Log Trac users in with the name a trusted reverse proxy '
                'or single sign-on front end hands over',
    long_description=read('README'),
    long_description_content_type='text/plain',
    license='BSD 3-Clause',
    packages=find_packages(include=['remoteuserauth', 'remoteuserauth.*']),
    package_data={'remoteuserauth': ['templates/*.html', 'htdocs/*.js']},
    python_requires='>=3.8',
    install_requires=['Trac>=1.6'],
    # Signed identity assertions ([remoteuser] jwt_header); the doors of
    # TracAccountManager held to the names the front end owns.
    extras_require={'jwt': ['PyJWT[crypto]>=2.8'],
                    'accountmanager': ['TracAccountManager>=0.6']},
    # The modules that hold Trac components; Trac loads each.
    entry_points={
        'trac.plugins': [
            'remoteuserauth.auth = remoteuserauth.auth',
            'remoteuserauth.login = remoteuserauth.login',
            'remoteuserauth.publicurl = remoteuserauth.publicurl',
            'remoteuserauth.groupsync = remoteuserauth.groupsync',
            'remoteuserauth.profilesync = remoteuserauth.profilesync',
            'remoteuserauth.bindings = remoteuserauth.bindings',
            'remoteuserauth.probe = remoteuserauth.probe',
            'remoteuserauth.tokenprefs = remoteuserauth.tokenprefs',
            'remoteuserauth.admin = remoteuserauth.admin',
            # Loaded only where TracAccountManager is installed.
            'remoteuserauth.accountmanager = '
            'remoteuserauth.integrations.accountmanager [accountmanager]',
        ],
    },
    classifiers=[
        'Framework :: Trac',
        'License :: OSI Approved :: BSD License',
        'Programming Language :: Python :: 3',
        'Topic :: Internet :: WWW/HTTP :: WSGI :: Middleware',
        'Topic :: Security',
    ],
    zip_safe=False,
)
