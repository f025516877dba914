"""Other plugins' doors held to the front end: each module here imports
the plugin it speaks to, and is loaded only where that plugin is
installed (a setuptools extra of the entry point); the rest of the
package never imports them."""
