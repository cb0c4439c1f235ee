"""Vietnamese vocabularies the simulated world is built from.

Why a module of plain tuples: the generators stay short and readable, and reviewers can check
at a glance that names, places and fields look like Ho Chi Minh City's real S&T ecosystem.
Real public institutions (universities, city departments, SIHUB) are used by name; their tax
codes, phones and people are synthetic.
"""

from __future__ import annotations

__all__ = [
    "AGENCIES",
    "BRAND_A",
    "BRAND_B",
    "BRAND_TAILS",
    "COUNTRIES",
    "DOC_TYPES",
    "FIELDS",
    "GIVEN_NAMES",
    "HOIP_FIELDS",
    "INCUBATOR_CORES",
    "INDUSTRIES",
    "INSTITUTE_QUALIFIERS",
    "INSTITUTE_TOPICS",
    "INVESTOR_CORES",
    "MIDDLE_NAMES",
    "MOBILE_PREFIXES",
    "PROGRAMS",
    "SURNAMES",
    "TITLES",
    "TOPIC_OBJECTS",
    "TOPIC_VERBS",
    "UNIVERSITIES",
    "WARDS",
]

SURNAMES = (
    "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan",
    "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Tạ",
)
MIDDLE_NAMES = (
    "Văn", "Thị", "Minh", "Hoàng", "Ngọc", "Thanh", "Quốc", "Hữu", "Đức", "Thu", "Kim", "Anh",
    "Bảo", "Thị Thanh", "Văn Minh", "Thị Ngọc", "Trọng", "Xuân", "Gia", "Phương",
)
GIVEN_NAMES = (
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương", "Khoa",
    "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong", "Phúc", "Phương",
    "Quang", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Thịnh", "Trang", "Trung", "Tuấn", "Tú",
    "Uyên", "Vân", "Việt", "Vinh", "Yến", "Khánh", "Huy", "Duy", "Hiếu", "Nhân", "Tài", "Lộc",
    "Hậu", "Thư", "My", "Châu", "Đạt", "Khôi", "Nhung", "Oanh", "Tín", "Toàn", "Triết", "Xuân",
)

# key -> (canonical prefix, degree, display variants)
TITLES = {
    "gs": ("GS.TS.", "Tiến sĩ", ("GS.TS.", "GS. TS.", "GS.TS", "Giáo sư, Tiến sĩ")),
    "pgs": ("PGS.TS.", "Tiến sĩ", ("PGS.TS.", "PGS. TS.", "PGS.TS", "PGS. TS", "Phó Giáo sư, Tiến sĩ")),
    "ts": ("TS.", "Tiến sĩ", ("TS.", "TS", "Tiến sĩ", "Dr.")),
    "ths": ("ThS.", "Thạc sĩ", ("ThS.", "ThS", "Th.S", "Thạc sĩ")),
    "ks": ("KS.", "Kỹ sư", ("KS.", "KS", "Kỹ sư")),
    "": ("", None, ("",)),
}

# Vietnam's S&T field classification (level 1), with a few level-2 topics each.
FIELDS = {
    "Khoa học tự nhiên": ("Toán học", "Vật lý", "Hóa học", "Sinh học", "Khoa học môi trường"),
    "Khoa học kỹ thuật và công nghệ": (
        "Khoa học máy tính và thông tin", "Kỹ thuật điện, điện tử", "Kỹ thuật cơ khí",
        "Kỹ thuật vật liệu", "Công nghệ sinh học môi trường", "Kỹ thuật xây dựng",
    ),
    "Khoa học y, dược": ("Y học lâm sàng", "Dược học", "Y tế công cộng", "Công nghệ sinh học y học"),
    "Khoa học nông nghiệp": ("Trồng trọt", "Chăn nuôi", "Thủy sản", "Công nghệ sinh học nông nghiệp"),
    "Khoa học xã hội": ("Kinh tế và kinh doanh", "Khoa học giáo dục", "Luật học", "Xã hội học"),
    "Khoa học nhân văn": ("Lịch sử và khảo cổ học", "Ngôn ngữ học", "Văn hóa học"),
}

TOPIC_VERBS = (
    "Nghiên cứu", "Nghiên cứu ứng dụng", "Xây dựng", "Phát triển", "Thiết kế và chế tạo",
    "Đánh giá", "Hoàn thiện công nghệ", "Ứng dụng", "Khảo sát và đề xuất giải pháp",
)
TOPIC_OBJECTS = {
    "Khoa học tự nhiên": (
        "vật liệu nano bạc kháng khuẩn", "hệ vi sinh vật rừng ngập mặn Cần Giờ",
        "mô hình toán học dự báo ngập do triều cường", "hợp chất có hoạt tính sinh học từ cây dược liệu",
        "chất lượng nước sông Sài Gòn",
    ),
    "Khoa học kỹ thuật và công nghệ": (
        "hệ thống giám sát giao thông dùng trí tuệ nhân tạo", "robot tự hành trong nhà xưởng",
        "mô hình học sâu nhận dạng tiếng Việt", "lưới điện thông minh cho khu công nghiệp",
        "hệ thống IoT quan trắc môi trường", "bê tông tính năng siêu cao",
        "nền tảng dữ liệu mở cho chính quyền số",
    ),
    "Khoa học y, dược": (
        "bộ kit chẩn đoán nhanh sốt xuất huyết", "quy trình sản xuất vắc-xin thú y",
        "chế phẩm từ nấm linh chi", "phần mềm hỗ trợ chẩn đoán hình ảnh X-quang",
        "liệu pháp tế bào gốc điều trị thoái hóa khớp",
    ),
    "Khoa học nông nghiệp": (
        "giống lúa chịu mặn cho vùng Cần Giờ", "quy trình nuôi tôm thẻ chân trắng tuần hoàn",
        "chế phẩm vi sinh xử lý phụ phẩm nông nghiệp", "nhà màng trồng rau thủy canh",
        "hệ thống tưới nhỏ giọt điều khiển qua IoT",
    ),
    "Khoa học xã hội": (
        "mô hình kinh tế tuần hoàn tại TP.HCM", "chính sách hỗ trợ khởi nghiệp đổi mới sáng tạo",
        "chuyển đổi số trong doanh nghiệp nhỏ và vừa", "nhu cầu nhân lực công nghệ cao",
    ),
    "Khoa học nhân văn": (
        "di sản kiến trúc Sài Gòn – Chợ Lớn", "văn hóa ẩm thực Nam Bộ", "kho ngữ liệu tiếng Việt",
    ),
}

DOC_TYPES = (
    ("task_report", "Báo cáo kết quả nhiệm vụ KH&CN", 0.22),
    ("book", "Sách", 0.08),
    ("textbook", "Giáo trình nội bộ", 0.06),
    ("thesis", "Luận văn thạc sĩ", 0.30),
    ("dissertation", "Luận án tiến sĩ", 0.08),
    ("journal_article", "Bài báo tạp chí KH&CN", 0.18),
    ("conference_paper", "Bài báo hội nghị", 0.08),
)

# (old district, old ward, new ward after the 2025 reorganization, streets)
WARDS = (
    ("Quận 1", "Phường Bến Nghé", "phường Sài Gòn", ("Lê Duẩn", "Nguyễn Du", "Đồng Khởi", "Hai Bà Trưng")),
    ("Quận 1", "Phường Bến Thành", "phường Bến Thành", ("Lê Lợi", "Nguyễn Văn Tráng", "Lê Thánh Tôn")),
    ("Quận 1", "Phường Tân Định", "phường Tân Định", ("Hai Bà Trưng", "Trần Quang Khải", "Đinh Tiên Hoàng")),
    ("Quận 1", "Phường Nguyễn Thái Bình", "phường Bến Thành", ("Tôn Thất Đạm", "Hàm Nghi", "Nguyễn Công Trứ")),
    ("Quận 3", "Phường Võ Thị Sáu", "phường Xuân Hòa", ("Trương Định", "Võ Văn Tần", "Pasteur", "Nguyễn Đình Chiểu")),
    ("Quận 3", "Phường 4", "phường Bàn Cờ", ("Cách Mạng Tháng Tám", "Nguyễn Thiện Thuật")),
    ("Quận 3", "Phường 11", "phường Nhiêu Lộc", ("Trần Văn Đang", "Lý Chính Thắng")),
    ("Quận 4", "Phường 12", "phường Xóm Chiếu", ("Nguyễn Tất Thành", "Hoàng Diệu")),
    ("Quận 4", "Phường 13", "phường Khánh Hội", ("Khánh Hội", "Nguyễn Tất Thành")),
    ("Quận 5", "Phường 4", "phường Chợ Quán", ("Nguyễn Văn Cừ", "An Dương Vương", "Trần Hưng Đạo")),
    ("Quận 5", "Phường 11", "phường Chợ Lớn", ("Hồng Bàng", "Nguyễn Chí Thanh")),
    ("Quận 7", "Phường Tân Phong", "phường Tân Mỹ", ("Nguyễn Hữu Thọ", "Nguyễn Văn Linh")),
    ("Quận 7", "Phường Tân Thuận Đông", "phường Tân Thuận", ("Huỳnh Tấn Phát", "Đường số 12")),
    ("Quận 10", "Phường 14", "phường Diên Hồng", ("Lý Thường Kiệt", "Tô Hiến Thành", "3 Tháng 2")),
    ("Quận 10", "Phường 12", "phường Hòa Hưng", ("Dương Quang Trung", "Sư Vạn Hạnh")),
    ("Quận Bình Thạnh", "Phường 25", "phường Thạnh Mỹ Tây", ("Điện Biên Phủ", "Võ Oanh", "Ung Văn Khiêm")),
    ("Quận Bình Thạnh", "Phường 13", "phường Bình Lợi Trung", ("Đặng Thùy Trâm", "Nơ Trang Long")),
    ("Quận Bình Thạnh", "Phường 15", "phường Gia Định", ("Điện Biên Phủ", "Xô Viết Nghệ Tĩnh")),
    ("Quận Phú Nhuận", "Phường 4", "phường Đức Nhuận", ("Nguyễn Kiệm", "Phan Đăng Lưu")),
    ("Quận Tân Bình", "Phường 1", "phường Tân Sơn Hòa", ("Lê Văn Sỹ", "Hoàng Văn Thụ")),
    ("Quận Tân Bình", "Phường 2", "phường Tân Sơn Nhất", ("Cộng Hòa", "Trường Sơn")),
    ("Quận Gò Vấp", "Phường 4", "phường Hạnh Thông", ("Nguyễn Văn Bảo", "Nguyễn Văn Lượng")),
    ("Quận Tân Phú", "Phường Tây Thạnh", "phường Tây Thạnh", ("Lê Trọng Tấn", "Tây Thạnh")),
    ("TP. Thủ Đức", "Phường Linh Trung", "phường Linh Xuân", ("Xa lộ Hà Nội", "Khu phố 6", "Hoàng Diệu 2")),
    ("TP. Thủ Đức", "Phường Linh Chiểu", "phường Thủ Đức", ("Võ Văn Ngân", "Đặng Văn Bi")),
    ("TP. Thủ Đức", "Phường Linh Xuân", "phường Linh Xuân", ("Quốc lộ 1", "Kha Vạn Cân")),
    ("TP. Thủ Đức", "Phường Tân Phú", "phường Tăng Nhơn Phú", ("Lô E2a-7, Đường D1, Khu Công nghệ cao", "Đường D2")),
    ("TP. Thủ Đức", "Phường Thảo Điền", "phường An Khánh", ("Xuân Thủy", "Quốc Hương", "Thảo Điền")),
)

# (core name, suffix, english name, abbreviation, domain, ward index, street number)
UNIVERSITIES = (
    ("Bách khoa", "ĐHQG-HCM", "Ho Chi Minh City University of Technology", "HCMUT", "hcmut.edu.vn", 13, "268"),
    ("Khoa học Tự nhiên", "ĐHQG-HCM", "University of Science, VNU-HCM", "HCMUS", "hcmus.edu.vn", 9, "227"),
    ("Khoa học Xã hội và Nhân văn", "ĐHQG-HCM", "University of Social Sciences and Humanities, VNU-HCM", "USSH", "hcmussh.edu.vn", 0, "10-12"),
    ("Quốc tế", "ĐHQG-HCM", "International University, VNU-HCM", "HCMIU", "hcmiu.edu.vn", 23, "Khu phố 6"),
    ("Công nghệ Thông tin", "ĐHQG-HCM", "University of Information Technology, VNU-HCM", "UIT", "uit.edu.vn", 23, "Khu phố 6"),
    ("Kinh tế – Luật", "ĐHQG-HCM", "University of Economics and Law, VNU-HCM", "UEL", "uel.edu.vn", 25, "669"),
    ("Kinh tế", "TP.HCM", "University of Economics Ho Chi Minh City", "UEH", "ueh.edu.vn", 4, "59C"),
    ("Sư phạm Kỹ thuật", "TP.HCM", "Ho Chi Minh City University of Technology and Education", "HCMUTE", "hcmute.edu.vn", 24, "1"),
    ("Nông Lâm", "TP.HCM", "Nong Lam University", "NLU", "hcmuaf.edu.vn", 23, "Khu phố 6"),
    ("Y Dược", "TP.HCM", "University of Medicine and Pharmacy at Ho Chi Minh City", "UMP", "ump.edu.vn", 10, "217"),
    ("Sư phạm", "TP.HCM", "Ho Chi Minh City University of Education", "HCMUE", "hcmue.edu.vn", 9, "280"),
    ("Tôn Đức Thắng", "", "Ton Duc Thang University", "TDTU", "tdtu.edu.vn", 11, "19"),
    ("Công nghiệp", "TP.HCM", "Industrial University of Ho Chi Minh City", "IUH", "iuh.edu.vn", 21, "12"),
    ("Mở", "TP.HCM", "Ho Chi Minh City Open University", "OU", "ou.edu.vn", 4, "97"),
    ("Giao thông vận tải", "TP.HCM", "Ho Chi Minh City University of Transport", "UTH", "ut.edu.vn", 15, "2"),
    ("Kiến trúc", "TP.HCM", "University of Architecture Ho Chi Minh City", "UAH", "uah.edu.vn", 4, "196"),
    ("Ngân hàng", "TP.HCM", "Banking University of Ho Chi Minh City", "BUH", "hub.edu.vn", 3, "36"),
    ("Tài chính – Marketing", "", "University of Finance – Marketing", "UFM", "ufm.edu.vn", 18, "778"),
    ("Công nghệ", "TP.HCM", "HUTECH University", "HUTECH", "hutech.edu.vn", 15, "475A"),
    ("Văn Lang", "", "Van Lang University", "VLU", "vlu.edu.vn", 16, "69/68"),
    ("Nguyễn Tất Thành", "", "Nguyen Tat Thanh University", "NTTU", "ntt.edu.vn", 7, "300A"),
    ("Công Thương", "TP.HCM", "Ho Chi Minh City University of Industry and Trade", "HUIT", "huit.edu.vn", 22, "140"),
    ("Sài Gòn", "", "Saigon University", "SGU", "sgu.edu.vn", 9, "273"),
    ("Y khoa Phạm Ngọc Thạch", "", "Pham Ngoc Thach University of Medicine", "PNTU", "pnt.edu.vn", 14, "2"),
    ("Luật", "TP.HCM", "Ho Chi Minh City University of Law", "HCMULAW", "hcmulaw.edu.vn", 7, "2"),
    ("Hoa Sen", "", "Hoa Sen University", "HSU", "hoasen.edu.vn", 1, "8"),
    ("Tài nguyên và Môi trường", "TP.HCM", "Ho Chi Minh City University of Natural Resources and Environment", "HCMUNRE", "hcmunre.edu.vn", 19, "236B"),
    ("Quốc tế Hồng Bàng", "", "Hong Bang International University", "HIU", "hiu.vn", 17, "215"),
)

INSTITUTE_TOPICS = (
    ("Sinh học Nhiệt đới", "Tropical Biology"), ("Khoa học Vật liệu Ứng dụng", "Applied Materials Science"),
    ("Công nghệ Hóa học", "Chemical Technology"), ("Khoa học Thủy lợi", "Water Resources Research"),
    ("Kinh tế Nông nghiệp", "Agricultural Economics"), ("Cơ học và Tin học Ứng dụng", "Applied Mechanics and Informatics"),
    ("Địa lý Tài nguyên", "Resource Geography"), ("Môi trường và Tài nguyên", "Environment and Resources"),
    ("Y tế Công cộng", "Public Health"), ("Pasteur Ứng dụng", "Applied Pasteur Research"),
    ("Công nghệ Sinh học và Thực phẩm", "Biotechnology and Food Technology"), ("Năng lượng Tái tạo", "Renewable Energy"),
    ("Tự động hóa", "Automation"), ("Công nghệ Thông tin", "Information Technology"),
    ("Vi mạch", "Microelectronics"), ("Trí tuệ Nhân tạo", "Artificial Intelligence"),
    ("Khoa học Xã hội", "Social Sciences"), ("Phát triển Đô thị", "Urban Development"),
    ("Hải dương học", "Oceanography"), ("Lúa", "Rice Research"), ("Chăn nuôi", "Animal Husbandry"),
    ("Thủy sản", "Aquaculture"), ("Dược liệu", "Medicinal Materials"), ("Cơ khí Chính xác", "Precision Engineering"),
    ("Vật lý Ứng dụng", "Applied Physics"), ("Điện tử Viễn thông", "Electronics and Telecommunications"),
    ("Khoa học Dữ liệu", "Data Science"), ("Kinh tế Tuần hoàn", "Circular Economy"),
    ("Quy hoạch Xây dựng", "Construction Planning"), ("Nông nghiệp Công nghệ cao", "High-tech Agriculture"),
    ("Giáo dục Số", "Digital Education"), ("An toàn Thông tin", "Information Security"),
    ("Logistics", "Logistics"), ("Thiết bị Y tế", "Medical Devices"), ("Chính sách Công", "Public Policy"),
    ("Đo lường Chất lượng", "Metrology and Quality"), ("Công nghệ Môi trường", "Environmental Technology"),
    ("Robot", "Robotics"), ("Công nghệ Nano", "Nanotechnology"), ("Văn hóa Nghệ thuật", "Culture and Arts"),
)
INSTITUTE_QUALIFIERS = (
    ("", ""), ("Phía Nam", "Southern"), ("Miền Nam", "South Vietnam"), ("Nam Bộ", "Southern Region"),
    ("Sài Gòn", "Saigon"), ("Ứng dụng", "Applied"), ("Đông Nam Bộ", "Southeast Region"),
    ("Việt Nam", "Vietnam"), ("Phương Nam", "Phuong Nam"), ("Đồng bằng sông Cửu Long", "Mekong Delta"),
    ("Tây Nguyên", "Central Highlands"), ("Duyên hải", "Coastal"), ("Quốc tế", "International"),
    ("Phát triển Bền vững", "Sustainable Development"), ("Chuyển giao", "Transfer"), ("Thành phố", "City"),
)
BRAND_TAILS = ("Sài Gòn", "Việt Nam", "Quốc tế", "Toàn Cầu", "Miền Nam", "Phương Nam", "Gia Định", "Đông Dương", "Á Châu", "Thủ Đức")

INDUSTRIES = (
    ("Công nghệ", "Technology", "TECH"), ("Giải pháp Phần mềm", "Software Solutions", "SOFT"),
    ("Thiết bị Y tế", "Medical Equipment", "MED"), ("Nông nghiệp Công nghệ cao", "Hi-tech Agriculture", "AGRI"),
    ("Tự động hóa", "Automation", "AUTO"), ("Môi trường", "Environment", "ENV"),
    ("Năng lượng", "Energy", "ENERGY"), ("Kỹ thuật", "Engineering", "ENG"), ("Công nghệ Sinh học", "Biotech", "BIO"),
    ("Điện tử", "Electronics", "ELEC"), ("Vật liệu mới", "New Materials", "MAT"), ("Dược phẩm", "Pharma", "PHARMA"),
    ("Thực phẩm", "Foods", "FOOD"), ("Truyền thông Số", "Digital Media", "MEDIA"),
    ("Thương mại Điện tử", "E-commerce", "COM"), ("Cơ khí Chế tạo", "Mechanical Manufacturing", "MECH"),
    ("Đầu tư và Phát triển Công nghệ", "Technology Investment and Development", "TID"),
    ("Dịch vụ Logistics", "Logistics Services", "LOG"), ("Giáo dục Công nghệ", "EdTech", "EDU"),
    ("Tài chính Số", "Digital Finance", "FIN"), ("An ninh Mạng", "Cyber Security", "SEC"),
    ("Robot", "Robotics", "ROBO"), ("Dữ liệu", "Data", "DATA"), ("Thiết bị Điện", "Electrical Equipment", "ELE"),
)
BRAND_A = (
    "Sao", "Minh", "Tân", "An", "Phú", "Hưng", "Thành", "Việt", "Đại", "Hoàng", "Kim", "Nam", "Bảo",
    "Thiên", "Trường", "Gia", "Phúc", "Quang", "Đông", "Tây", "Hải", "Sơn", "Long", "Vạn", "Thái",
    "Hòa", "Ngọc", "Lạc", "Nhật", "Vĩnh", "Toàn", "Thịnh", "Phước", "Hồng", "Bình", "Khang", "Tín",
    "Mỹ", "Trí", "Đức",
)
BRAND_B = (
    "Việt", "Phát", "Tiến", "Khang", "Điền", "Long", "Thịnh", "Thành", "Hưng", "An", "Lợi", "Nam",
    "Minh", "Quang", "Tín", "Đạt", "Hòa", "Phong", "Sáng", "Tâm", "Trí", "Vượng", "Mỹ", "Nguyên",
    "Gia", "Hải", "Dương", "Lộc", "Bảo", "Tường", "Hiệp", "Kỳ", "Đăng", "Huy", "Sinh", "Tài",
)

INCUBATOR_CORES = (
    ("Vườn ươm Doanh nghiệp Công nghệ cao", "Hi-Tech Business Incubator"),
    ("Vườn ươm Doanh nghiệp Công nghệ Phần mềm", "Software Technology Business Incubator"),
    ("Ươm tạo Doanh nghiệp Nông nghiệp Công nghệ cao", "Hi-tech Agriculture Business Incubator"),
    ("Ươm tạo và Hỗ trợ Khởi nghiệp", "Startup Incubation and Support"),
    ("Đổi mới Sáng tạo và Khởi nghiệp", "Innovation and Entrepreneurship"),
    ("Khởi nghiệp Sáng tạo", "Creative Startup"),
    ("Thúc đẩy Kinh doanh", "Business Acceleration"),
    ("Tăng tốc Khởi nghiệp", "Startup Acceleration"),
)
INVESTOR_CORES = (
    ("Đầu tư Mạo hiểm", "Venture Capital"), ("Đầu tư Khởi nghiệp Sáng tạo", "Innovative Startup Investment"),
    ("Đầu tư Công nghệ", "Technology Investment"), ("Đầu tư Đổi mới Sáng tạo", "Innovation Investment"),
)

# Real city agencies (core after "Sở"/"Ban"...): (name, english, abbreviation, domain)
AGENCIES = (
    ("Sở Khoa học và Công nghệ TP.HCM", "Department of Science and Technology of HCMC", "DOST", "dost.hochiminhcity.gov.vn"),
    ("Sở Y tế TP.HCM", "Department of Health of HCMC", "DOH", "medinet.hochiminhcity.gov.vn"),
    ("Sở Giáo dục và Đào tạo TP.HCM", "Department of Education and Training of HCMC", "DOET", "hcm.edu.vn"),
    ("Cục Thuế TP.HCM", "Ho Chi Minh City Tax Department", "HCMTAX", "hcmtax.gov.vn"),
    ("Sở Giao thông Vận tải TP.HCM", "Department of Transport of HCMC", "DOT", "sgtvt.hochiminhcity.gov.vn"),
    ("Sở Tài nguyên và Môi trường TP.HCM", "Department of Natural Resources and Environment of HCMC", "DONRE", "stnmt.hochiminhcity.gov.vn"),
    ("Sở Công Thương TP.HCM", "Department of Industry and Trade of HCMC", "DOIT", "congthuong.hochiminhcity.gov.vn"),
    ("Sở Nông nghiệp và Môi trường TP.HCM", "Department of Agriculture and Environment of HCMC", "DAE", "sonnptnt.hochiminhcity.gov.vn"),
    ("Ban Quản lý Khu Công nghệ cao TP.HCM", "Saigon Hi-Tech Park Management Board", "SHTP", "shtp.hochiminhcity.gov.vn"),
    ("Ban Quản lý các Khu chế xuất và công nghiệp TP.HCM", "HEPZA", "HEPZA", "hepza.hochiminhcity.gov.vn"),
    ("Sở Xây dựng TP.HCM", "Department of Construction of HCMC", "DOC", "soxaydung.hochiminhcity.gov.vn"),
    ("Sở Văn hóa và Thể thao TP.HCM", "Department of Culture and Sports of HCMC", "DCS", "svhtt.hochiminhcity.gov.vn"),
    ("Sở Nội vụ TP.HCM", "Department of Home Affairs of HCMC", "DOHA", "sonoivu.hochiminhcity.gov.vn"),
    ("Sở Tài chính TP.HCM", "Department of Finance of HCMC", "DOF", "stc.hochiminhcity.gov.vn"),
    ("Trung tâm Chuyển đổi số TP.HCM", "HCMC Digital Transformation Center", "DTC", "dtc.hochiminhcity.gov.vn"),
)

HOIP_FIELDS = (
    "ecommerce", "fintech", "logistics", "edtech", "healthtech", "agritech", "sustainability",
    "digital_transformation", "cybersecurity", "ai", "iot", "big_data", "creative_industry",
    "life_sciences",
)

PROGRAMS = (
    ("AI.STAR", "competition"), ("GIC", "competition"), ("INNOCULTURE", "competition"),
    ("SpeedUp", "support_programme"), ("Ươm tạo Khởi nghiệp", "support_programme"),
    ("Tăng tốc Khởi nghiệp", "support_programme"), ("Startup Wheel", "competition"),
    ("Ý tưởng Sáng tạo Sinh viên", "competition"),
)

COUNTRIES = ("Việt Nam", "Việt Nam", "Việt Nam", "Nhật Bản", "Hàn Quốc", "Đức", "Israel", "Hoa Kỳ", "Đài Loan")

MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "032", "035", "038", "070", "077", "079", "081", "083", "085", "088")
