"""The native tracer core, built at install; optional, so that pip install works (and
falls back to the Python tracer) where there is no C compiler."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cowsnap.trace._core",
            sources=["cowsnap/trace/_core.c"],
            depends=[
                "cowsnap/trace/_core_paths.h",
                "cowsnap/trace/_core_state.h",
                "cowsnap/trace/_core_util.h",
            ],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
