"""Demo data for a first start. Every record is fictional, and says so."""
from __future__ import annotations

from functools import partial

from haven.platform import db

from .service_layer import services
from .service_layer.unit_of_work import SqlUnitOfWork

FICTIONAL = "Dữ liệu minh hoạ (hư cấu) — fictional demo record."

ORGANIZATIONS = [
    ("Trung tâm Công tác xã hội tỉnh Lạng Sơn (demo)", "Quản lý ca, tư vấn và kết nối dịch vụ cho người bị bạo lực giới."),
    ("Nhà tạm lánh Hoa Sen Ninh Bình (demo)", "Nơi tạm lánh an toàn cho phụ nữ và trẻ em bị bạo lực."),
    ("Trung tâm Trợ giúp pháp lý Nhà nước tỉnh Thanh Hóa (demo)", "Trợ giúp pháp lý miễn phí cho người bị bạo lực gia đình."),
    ("Hội Liên hiệp Phụ nữ quận Đống Đa (demo)", "Tư vấn, tham vấn và địa chỉ tin cậy tại cộng đồng."),
    ("Bệnh viện Đa khoa huyện Cẩm Thủy (demo)", "Khám chữa bệnh, giám định và hỗ trợ tâm lý."),
    ("Công an huyện Cao Lộc (demo)", "Bảo vệ, can thiệp khẩn cấp và điều tra."),
    ("Đường dây nóng hỗ trợ nạn nhân bạo lực giới (demo)", "Tư vấn qua điện thoại 24/7, miễn phí."),
]


def load(config, database_url: str) -> None:
    uow = partial(SqlUnitOfWork, db.create_engine(database_url))
    for name, description in ORGANIZATIONS:
        services.register_organization(uow, name=name, description=f"{description} {FICTIONAL}")
