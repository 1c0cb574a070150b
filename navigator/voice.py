"""placeholder"""
from flask import Blueprint
bp = Blueprint("voice", __name__, url_prefix="/twilio")
