from wsside import Handler

echo = Handler("/echo")
