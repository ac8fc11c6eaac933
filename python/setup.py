"""Marks the distribution as platform-specific: the wheel carries the compiled Swift core
(_core*.so), so it must be tagged for its Python and platform, not as pure Python."""
from setuptools import setup
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(distclass=BinaryDistribution)
