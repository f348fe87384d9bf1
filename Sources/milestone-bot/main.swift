import ChatServer
