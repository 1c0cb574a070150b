"""placeholder"""
from flask import Blueprint
bp = Blueprint("sms", __name__, url_prefix="/twilio")
