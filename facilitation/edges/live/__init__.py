"""The live side: Socket.IO handlers, presence, the coalesced broadcasts, the follow page's
namespace, access that ends, and several processes as one room."""
