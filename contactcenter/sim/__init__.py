"""PBX simulator: plays Asterisk 22 on the AMI and FastAGI wires for tests, demo and benchmarks."""

from .calls import SimCall
from .channels import SimChannel
from .model import CallerScript, Phone, Press, Silence, SimConfig
from .simulator import Simulator

__all__ = [
    "CallerScript",
    "Phone",
    "Press",
    "Silence",
    "SimCall",
    "SimChannel",
    "SimConfig",
    "Simulator",
]
